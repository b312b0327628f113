"""Writers: result sheets into the staff's workbook, and exports of findings."""

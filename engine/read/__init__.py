"""Readers: the staff's workbook into typed tables (engine.tables documents their columns)."""

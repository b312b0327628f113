"""The engine pins pandas' text storage to the one it is written and tested against, so an
installed pyarrow (Anaconda, data-science setups) cannot change how its tables behave."""

import pandas as pd

import engine  # noqa: F401 - importing the package pins the storage


def test_text_columns_are_python_strings_whatever_else_is_installed():
    assert pd.get_option("mode.string_storage") == "python"
    assert pd.api.types.pandas_dtype("str").storage == "python"
    assert isinstance(pd.Series(["INV-1", None], dtype="str").array, pd.arrays.StringArray)

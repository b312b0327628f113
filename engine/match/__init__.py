"""Matchers: decide which invoice each payment belongs to, with a method and a confidence."""

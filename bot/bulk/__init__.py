"""Bulk import: a spreadsheet (CSV/TSV) of contacts, tags, orders or ad spend run as one operation per row."""

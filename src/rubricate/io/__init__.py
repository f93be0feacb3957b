"""File layouts: the annotation dataset layout and flat JSONL/CSV, read and written as
streams."""

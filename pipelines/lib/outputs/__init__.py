"""What people read: the Chinese HTML reports, Excel exports, data dictionary, summaries."""

"""`ponder report`: tables, plots and the HTML report of stored runs, read from the store alone."""

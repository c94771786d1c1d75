"""The process that hosts the workflow and its activities."""

"""The Temporal integration (sandlot.temporal) against a real Temporal dev server."""

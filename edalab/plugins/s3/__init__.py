"""S3 fixes: where an engine keeps its objects' bytes (see storage_folder)."""

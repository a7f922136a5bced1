"""DynamoDB: served by the moto library in-process instead of a downloaded DynamoDB Local."""

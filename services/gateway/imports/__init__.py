"""Bulk import of customers (``POST /v1/imports``): a file's rows registered as partners'
``customer.registered`` events, by a job of the gateway's (``runner``), resumable."""

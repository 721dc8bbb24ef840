"""The acquiring host: journal, request handling and the ISO 8583 TCP server."""

"""The local system: embedded Postgres, moto's SQS server and the queues, for tests and `make run`.

Nothing here runs in the container image; it needs the dev requirements (pgserver, moto).
"""

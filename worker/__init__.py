"""The worker: consumes job ids from SQS and runs the analyze, match, persist, notify pipeline."""

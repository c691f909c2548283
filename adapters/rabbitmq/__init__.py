"""RabbitMQ: topology, the worker (consumer + outbox relay), publishing and dead letters."""

"""The edges: RabbitMQ, ledgers, files, the CLI, and the one module that wires them."""

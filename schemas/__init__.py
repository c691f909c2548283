"""Official ISO 20022 XSDs, shipped as package data (see NOTICE). No code lives here."""

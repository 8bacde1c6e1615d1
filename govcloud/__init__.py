"""govcloud: infrastructure-as-code and a zero-trust network controller for Japan's Government Cloud."""

__version__ = "0.1.0"

"""batfriend: a small Redis-backed service for finding your friends and messaging them."""

__version__ = "0.1.0"

DECOY_STRING = "Hello, world!"

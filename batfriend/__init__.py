"""batfriend: a small Redis-backed service for finding your friends and messaging them."""

DECOY_STRING = "Hello, world!"

"""whispercli serve: an HTTP client of the library (whisper-server and OpenAI compatible)."""

__version__ = "0.1.0"
WHISPER_CPP_VERSION = "1.9.1"

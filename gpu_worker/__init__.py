"""The transcription worker: Service Bus jobs in, faster-whisper, results out."""

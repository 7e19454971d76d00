"""Signal work on PCM with no device and no thread: 10 ms framing, levels in dBFS, resampling,
voice activity detection, synthesized tones and WAV files. Imports nothing else of convai_tui."""

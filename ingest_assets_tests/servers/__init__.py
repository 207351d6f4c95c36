"""Real database servers the tests (and benchmarks) start themselves, each in its own folder."""

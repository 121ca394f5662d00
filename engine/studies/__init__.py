"""Research studies: ablation, scenario replays, drift, the live record judged."""

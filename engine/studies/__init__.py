"""Research studies: ablation, scenario replays, drift."""

"""Sizing, the execution model (fills, exits, costs), simulation, backtest, paper rules."""

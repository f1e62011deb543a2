"""Run strategies over benchmarks, resumably, and measure them."""

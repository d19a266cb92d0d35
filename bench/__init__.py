"""Benchmarks of adkstream against ADK's own server, a plain `run_async` endpoint and a floor.

`python -m bench` (or `make bench`) runs every scenario of `bench.scenarios`, prints the
tables and writes them to `bench/results/` as JSON; `--quick` runs a smaller version in
under two minutes. Each server runs in its own process (`bench.servers`) on 127.0.0.1;
this process is the load generator. Never part of the test run.
"""

/**
 * The tests' real servers (redis-server, influxd, victoria-metrics on free loopback ports): the
 * harness lives in bench/servers.ts so that the benchmarks, which run from dist/, start the same
 * servers the same way.
 */
export * from "../../bench/servers.js";

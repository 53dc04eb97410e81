"""Many clients at once: every answer must be the one asked for."""

import threading

import requests

THREADS = 8
QUERIES_PER_THREAD = 50
INSERTS_PER_THREAD = 10
ROWS_PER_INSERT = 1000
QUERY = b"SELECT {k:UInt32} AS asked, count(), sum(v), getSetting('max_threads') FROM t WHERE k = {k:UInt32}"


def test_parallel_clients_each_get_their_own_answers(clickhouse_url, database, ch):
    ch.text(f"CREATE TABLE {database}.t (k UInt32, v UInt64) ENGINE = MergeTree ORDER BY k")
    ch.text(f"INSERT INTO {database}.t SELECT number % 100, number FROM numbers(100000)")
    failures: list[str] = []

    def client(thread: int) -> None:
        http = requests.Session()  # one keep-alive connection per thread, as a pool would hold
        for i in range(QUERIES_PER_THREAD):
            key = (thread * QUERIES_PER_THREAD + i) % 100
            response = http.post(
                clickhouse_url,
                params={"database": database, "param_k": str(key), "max_threads": str(1 + i % 2)},
                data=QUERY,
            )
            expected = f"{key}\t1000\t{sum(range(key, 100000, 100))}\t{1 + i % 2}\n"
            if response.status_code != 200 or response.text != expected:
                failures.append(f"thread {thread} query {i}: {response.status_code} {response.text!r}")

    run_in_threads(client)
    assert failures == []


def test_parallel_inserts_each_land_exactly_once(clickhouse_url, database, ch):
    ch.text(f"CREATE TABLE {database}.t (k UInt32, v UInt64) ENGINE = MergeTree ORDER BY k")
    failures: list[str] = []

    def client(thread: int) -> None:
        http = requests.Session()
        for i in range(INSERTS_PER_THREAD):
            key = thread * INSERTS_PER_THREAD + i
            rows = (b"%d\t%d\n" % (key, v) for v in range(ROWS_PER_INSERT))  # a chunked body
            response = http.post(clickhouse_url, params={"query": f"INSERT INTO {database}.t FORMAT TSV"}, data=rows)
            summary = response.headers.get("X-ClickHouse-Summary", "")
            if response.status_code != 200 or f'"written_rows":"{ROWS_PER_INSERT}"' not in summary:
                failures.append(f"thread {thread} insert {i}: {response.status_code} {response.text!r}")

    run_in_threads(client)
    assert failures == []
    inserts = THREADS * INSERTS_PER_THREAD
    assert ch.text(f"SELECT count(), uniqExact(k), sum(v) FROM {database}.t") == (
        f"{inserts * ROWS_PER_INSERT}\t{inserts}\t{inserts * sum(range(ROWS_PER_INSERT))}\n"
    )


def run_in_threads(client) -> None:
    threads = [threading.Thread(target=client, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

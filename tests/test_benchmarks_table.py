from benchmarks import common

OLD = """
Measured on a machine, by `python -m benchmarks`:

| comparison | plain ms | keras_lcw ms | ratio | step ratio min | step ratio max |
|---|---|---|---|---|---|
| A / a | 1.00 | 1.00 | 1.000 | 1.000 | 1.000 |
| B / b | 1.00 | 1.00 | 1.000 | 1.000 | 1.000 |
| C / c | 1.00 | 1.00 | 1.000 | 1.000 | 1.000 |
"""


def test_merged_table_replaces_the_rows_of_the_benchmarks_run():
    table = common.merged_table(
        OLD,
        {
            "first": ["| A / a | 2 |", "| A2 / a | 2 |"],
            "third": ["| C / c | 3 |"],
            "new": ["| D / d | 4 |"],
        },
    )
    assert table.splitlines() == common.TABLE_HEADER + [
        "| A / a | 2 |",
        "| A2 / a | 2 |",
        "| B / b | 1.00 | 1.00 | 1.000 | 1.000 | 1.000 |",
        "| C / c | 3 |",
        "| D / d | 4 |",
    ]

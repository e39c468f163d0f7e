#!/usr/bin/env python3
"""Reference for `ml-connector bench settlement`: the same sums in plain Python.

Reads a Flat File V2 settlement (tab-separated, columns by header name) with
the standard csv module and Decimal, sums the amounts per (transaction-type,
amount-type, amount-description) and checks the body rows against the summary
row's total-amount. Prints the rows, the number of groups and the verdict.
Exit code 0 when consistent, 1 when not.
"""
import csv
import sys
from decimal import Decimal


def main(path):
    sums = {}
    rows = 0
    total = None
    rows_total = Decimal(0)
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f, delimiter="\t")
        header = next(reader)
        col = {name: i for i, name in enumerate(header)}
        tt, at, ad, amt = (col["transaction-type"], col["amount-type"],
                           col["amount-description"], col["amount"])
        total_col = col["total-amount"]
        for record in reader:
            if not record or all(not c.strip() for c in record):
                continue
            if total is None:
                total = Decimal(record[total_col].strip())
                continue
            amount = Decimal(record[amt].strip())
            key = (record[tt], record[at], record[ad])
            sums[key] = sums.get(key, Decimal(0)) + amount
            rows_total += amount
            rows += 1
    consistent = total == rows_total
    print(f"rows {rows} groups {len(sums)} rows_total {rows_total} total {total} "
          f"{'consistent' if consistent else 'INCONSISTENT'}")
    return 0 if consistent else 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: settlement_sums.py FILE", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))

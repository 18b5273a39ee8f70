"""The thin SegMetrics client.

Where SegMetrics' documentation is silent, the bot assumes — in one place, here:

- Date strings are written in one configured zone (SEGMETRICS_TIMEZONE, default UTC); every
  confirmation says which (`Operation._notes`).
- An "empty" contact status means "do not send a status" (a form's empty select sends nothing).
- A 404 on a delete means "nothing to delete": an outcome, not an error (`Runner.execute`).
- Rate limits are not published: 429 and 5xx are retried with backoff, honouring `Retry-After`
  (`SegMetricsClient.send`).
- Every Import API write is an upsert or a delete, so repeating a request is safe: POSTs are retried too.
- Reporting API order totals (`total`, `total_paid`) are in minor units, like the Import API's amounts.
"""

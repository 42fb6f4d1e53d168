"""Change events (issue 17): each commit on an environment's branch as a CloudEvents 1.0 event (`cloudevents`),
delivered to the webhooks of flagdeck.yaml (`config`) by `flagdeck serve` (`deliver`) with signatures, retries and
a durable cursor per webhook and environment, and a delivery log (`state`)."""

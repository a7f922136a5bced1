"""SNS fixes: what an email notification looks like (see email_subject)."""

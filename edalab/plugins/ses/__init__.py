"""SES: the mail relay that delivers what SES (and SNS email) sends into a local Maildir."""

# bench/mail/delivery.sh: mail delivery between two daemons on loopback
# (the mail plugin on both), 10 KB messages, one SMTP sender and eight at
# once. A script only.
.PHONY: bench-mail
bench-mail: all
	BUILD=$(BUILD) bash bench/mail/delivery.sh
# bench/mail/imap.sh: mbsync of a 1000-message, 50 MiB account from the
# mail plugin and from Dovecot (dovecot-imapd), in the same run.
.PHONY: bench-mail-imap
bench-mail-imap: all
	BUILD=$(BUILD) bash bench/mail/imap.sh

# bench/mail/delivery.sh: mail delivery between two daemons on loopback
# (the mail plugin on both), 10 KB messages, one SMTP sender and eight at
# once. A script only.
.PHONY: bench-mail
bench-mail: all
	BUILD=$(BUILD) bash bench/mail/delivery.sh

"""SMPP 3.4: the PDUs (`pdus`), one session over TCP (`session`), and a simulated SMSC
(`smsc`) for tests and demos. The connector that sends Landline's texts builds on these."""

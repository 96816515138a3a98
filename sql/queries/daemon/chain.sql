-- chain.sql - one batch of the audit chain stage (src/chain.c): up to $1
-- rows queued in audit_pending appended to audit_chain, by
-- audit_chain_append() of migration 009 (the statement is there, in a
-- function that runs it with jit off; docs/audit.md says why the order
-- is safe with several instances).
-- Returns one row: links appended, and the head's number after them.
-- columns: linked, head
SELECT linked, head_n AS head FROM audit_chain_append($1::int)

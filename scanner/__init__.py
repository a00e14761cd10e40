"""The scanner: fetch job boards, normalize their listings, upsert them and fill the outbox."""

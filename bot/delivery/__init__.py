"""Delivery: draining the outbox to the channels. The worker runs one sender per channel; the
sender claims, paces (ratelimit) and sends; holding says when an article may go to a chat;
quota counts a channel's monthly allowance; allowance applies a plan to the members (user cap,
daily replies, push reserve); replies paces command answers; retention prunes finished
deliveries. Nothing here knows a concrete channel: it reads the adapter's capabilities.
"""

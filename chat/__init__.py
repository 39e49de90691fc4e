"""Chat services people subscribe through: one command core (``chat.commands``) over one
subscriber store (``chat.store``), and a thin transport per service (``chat.telegram``,
``chat.messenger``) that turns the service's updates into commands and sends the replies."""

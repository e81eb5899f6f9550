"""The public HTTP contracts: what the services answer and the bodies they read.

The gateway documents the services' answers on the routes it forwards, and
services never import each other, so the models live here: a service declares
them as its routes' ``response_model`` (it cannot drift from the contract), and
the gateway declares the same models on its forwarded routes (the OpenAPI
document tells the truth). ``errors`` has the RFC 9457 problem every failure
is; ``openapi`` the conventions every app's document follows.
"""

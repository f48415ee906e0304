"""The shop's products: shop.yml's catalog, products imported from a platform's export, and finding the
product a customer's words name. No Rasa imports: the web server, the action server and the command line
share it."""

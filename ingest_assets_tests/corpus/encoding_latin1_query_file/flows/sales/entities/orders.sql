SELECT *
FROM orders -- für die Kunden

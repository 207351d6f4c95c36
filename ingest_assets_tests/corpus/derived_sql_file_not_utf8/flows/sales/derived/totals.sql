SELECT count(*) AS orders -- Aufträge
FROM sales.orders

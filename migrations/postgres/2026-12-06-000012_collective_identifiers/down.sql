DROP TABLE collective_identifier_invoices;
DROP TABLE collective_identifiers;

DROP TABLE certificate_enrollments;

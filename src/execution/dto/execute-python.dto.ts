import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsArray,
  IsBoolean,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { InputFileDto } from './input-file.dto';

export class ExecutePythonDto {
  /** Python source to run as a fresh module. A top-level `return x`, or a trailing expression, becomes the result. */
  @ApiProperty({ example: 'print("Hello, World!")' })
  @IsString()
  @Matches(/\S/, { message: 'code must not be empty' })
  code: string;

  /** Wall-clock seconds, 1..300 (default 30; values above MAX_TIMEOUT are lowered to it). */
  @ApiPropertyOptional({ example: 10 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(300)
  timeout?: number;

  /** Absolute http(s) URL; makes the request asynchronous and receives the final envelope. */
  @ApiPropertyOptional({ example: 'https://example.com/hooks/pyexec' })
  @IsOptional()
  @IsUrl(
    { protocols: ['http', 'https'], require_protocol: true, require_tld: false, require_host: true },
    { message: 'webhook_url must be an absolute http or https URL' },
  )
  @MaxLength(2048)
  webhook_url?: string;

  /** Your identifier for this request, echoed in every response and webhook. */
  @ApiPropertyOptional({ example: 'hello-1' })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  id?: string;

  /** `true` answers 202 at once; poll GET /v1/jobs/{job_id}. */
  @IsOptional()
  @IsBoolean()
  async?: boolean;

  /** Fed to the program's standard input. */
  @IsOptional()
  @IsString()
  stdin?: string;

  /**
   * Input files, written into the run's working directory before the code starts (at most
   * MAX_INPUT_FILES, MAX_INPUT_FILE_BYTES decoded in all). What the program leaves under `./outputs/`
   * comes back in `files`.
   */
  @ApiPropertyOptional({ type: [InputFileDto] })
  @IsOptional()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => InputFileDto)
  files?: InputFileDto[];
}
